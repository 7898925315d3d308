import os

# Must precede the first `import jax` of the session: tests that shard need several devices.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
