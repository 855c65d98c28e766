"""The zygote and worker side of the sandbox."""
