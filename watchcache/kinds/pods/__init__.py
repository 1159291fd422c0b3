"""Everything that knows the Pod kind (kube pkg/registry/core/pod and pkg/apis/core/validation)."""
