"""``watchcache simulate``: a KWOK-like cluster of fake nodes, a scheduler and kubelets.

A real API client of any server (watchcache or kube-apiserver): it registers Node objects and
keeps their status fresh, binds unscheduled pods to them through ``pods/binding``, and plays
each bound pod's kubelet — Running with the status a kubelet writes, log lines through the
log ingestion API, completion for pods that are meant to finish, graceful deletion finished.

``cluster`` holds the pure rules (what a node, a placement and a pod status look like);
``client`` the HTTP client; ``simulate`` the loop that watches pods and acts on them.
"""
