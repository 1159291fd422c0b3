"""The Event's protobuf field tables, both versions (k8s.io/api ``core/v1`` and ``events/v1``
``generated.proto``): kubelets post core/v1 Events as protobuf, kube-scheduler's recorder
events.k8s.io/v1 ones."""

from watchcache.machinery.protobuf import OBJECT_META, OBJECT_REFERENCE, Message

EVENT_SOURCE = Message("EventSource", {1: ("component", "string"), 2: ("host", "string")})
EVENT_SERIES = Message("EventSeries", {1: ("count", "int"), 2: ("lastObservedTime", "microtime")})
EVENT_MESSAGE = Message("Event", {
    1: ("metadata", OBJECT_META), 2: ("involvedObject", OBJECT_REFERENCE), 3: ("reason", "string"),
    4: ("message", "string"), 5: ("source", EVENT_SOURCE), 6: ("firstTimestamp", "time"),
    7: ("lastTimestamp", "time"), 8: ("count", "int"), 9: ("type", "string"),
    10: ("eventTime", "microtime"), 11: ("series", EVENT_SERIES), 12: ("action", "string"),
    13: ("related", OBJECT_REFERENCE), 14: ("reportingComponent", "string"),
    15: ("reportingInstance", "string"),
})  # fmt: skip
EVENT_V1_MESSAGE = Message("Event", {
    1: ("metadata", OBJECT_META), 2: ("eventTime", "microtime"), 3: ("series", EVENT_SERIES),
    4: ("reportingController", "string"), 5: ("reportingInstance", "string"), 6: ("action", "string"),
    7: ("reason", "string"), 8: ("regarding", OBJECT_REFERENCE), 9: ("related", OBJECT_REFERENCE),
    10: ("note", "string"), 11: ("type", "string"), 12: ("deprecatedSource", EVENT_SOURCE),
    13: ("deprecatedFirstTimestamp", "time"), 14: ("deprecatedLastTimestamp", "time"),
    15: ("deprecatedCount", "int"),
})  # fmt: skip
