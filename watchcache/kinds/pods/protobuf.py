"""The Binding's protobuf field table (k8s.io/api core/v1 ``generated.proto``): client-go's typed
clients, schedulers among them, post bindings as protobuf."""

from watchcache.machinery.protobuf import OBJECT_META, OBJECT_REFERENCE, Message

BINDING_MESSAGE = Message("Binding", {1: ("metadata", OBJECT_META), 2: ("target", OBJECT_REFERENCE)})
