"""The Namespace's protobuf field table (k8s.io/api core/v1 ``generated.proto``), so that
``kubectl create namespace`` (a typed create, sent as protobuf) works."""

from watchcache.machinery.protobuf import OBJECT_META, Message

NAMESPACE_CONDITION = Message("NamespaceCondition", {
    1: ("type", "string"), 2: ("status", "string"), 4: ("lastTransitionTime", "time"),
    5: ("reason", "string"), 6: ("message", "string"),
})  # fmt: skip
NAMESPACE_MESSAGE = Message("Namespace", {
    1: ("metadata", OBJECT_META),
    2: ("spec", Message("NamespaceSpec", {1: ("finalizers", ("repeated", "string"))})),
    3: ("status", Message("NamespaceStatus", {
        1: ("phase", "string"), 2: ("conditions", ("repeated", NAMESPACE_CONDITION)),
    })),
})  # fmt: skip
