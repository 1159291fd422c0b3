"""Setting up the process: settings, the embedded Redis, TLS, the kubeconfig, the token file,
and the guarded background tasks every layer starts."""
