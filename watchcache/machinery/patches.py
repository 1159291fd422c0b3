"""The non-apply PATCH types (patch.md §1-4): parse the patch body and apply it to a pod.

JSON Patch (RFC 6902) uses the ``jsonpatch`` library; merge and strategic merge patches are
``strategic_merge``'s. Server-side apply lives in ``apply.py``.
"""

from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer
import orjson

from watchcache.machinery import errors
from watchcache.machinery.jsonshape import copied
from watchcache.machinery.objects import Object
from watchcache.machinery.strategic_merge import apply_json_merge_patch, apply_strategic_merge

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)
MAX_JSON_PATCH_OPERATIONS = 10_000  # kube-apiserver's limit; more is a 413


def parse_patch(patch_type: str, body: bytes) -> Any:
    """Decode the patch document; a body of the wrong shape is a 400 (413 for huge JSON patches)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.BadRequest(f"error decoding patch: {exc}") from None
    if patch_type == JSON_PATCH:
        if not isinstance(document, list) or not all(isinstance(op, dict) for op in document):
            raise errors.BadRequest(
                "error decoding patch: json: cannot unmarshal object into Go value of type jsonpatch.Patch"
            )
        if len(document) > MAX_JSON_PATCH_OPERATIONS:
            raise errors.too_large(
                f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, "
                f"got {len(document)}"
            )
    elif not isinstance(document, dict):
        raise errors.BadRequest(
            f"error decoding patch: json: cannot unmarshal {errors.go_json_type(document)} into Go value of "
            "type map[string]interface {}"
        )
    return document


def apply_patch(patch_type: str, pod: Object, document: Any) -> Any:
    """Apply a parsed patch to the current pod, which is left as it is; returns the patched
    document (merge patches build it afresh where they change it and share the rest)."""
    if patch_type == JSON_PATCH:
        try:  # jsonpatch edits the document it is given: a copy
            return jsonpatch.JsonPatch(document).apply(copied(pod), in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, KeyError):
            # kube-apiserver hides the specific reason behind this generic 422
            raise errors.APIError(
                422, "Invalid", "the server rejected our request due to an error in our request", {}
            ) from None
    if patch_type == MERGE_PATCH:
        return apply_json_merge_patch(pod, document)
    return apply_strategic_merge(pod, document)
