"""What every kind shares (kube apimachinery): schemas and decoding, errors as Status, names and
ObjectMeta, selectors, options, patches, managedFields and server-side apply. Pure and
synchronous: no Redis, no HTTP, no asyncio.
"""
