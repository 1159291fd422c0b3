"""The Binding's protobuf field table (k8s.io/api core/v1 ``generated.proto``): client-go's typed
clients, schedulers among them, post bindings as protobuf."""

from watchcache.machinery.protobuf import OBJECT_META, Message

OBJECT_REFERENCE = Message("ObjectReference", {
    1: ("kind", "string"), 2: ("namespace", "string"), 3: ("name", "string"), 4: ("uid", "string"),
    5: ("apiVersion", "string"), 6: ("resourceVersion", "string"), 7: ("fieldPath", "string"),
})  # fmt: skip
BINDING_MESSAGE = Message("Binding", {1: ("metadata", OBJECT_META), 2: ("target", OBJECT_REFERENCE)})
