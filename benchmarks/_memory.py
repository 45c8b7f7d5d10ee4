"""Peak-memory helpers shared by the benchmark scripts (run them as scripts: this folder is on sys.path)."""


def _peak_reset() -> bool:
    """Reset the process's peak RSS (Linux ``/proc/self/clear_refs``); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _status_mb(field: str) -> float | None:
    """A memory field of ``/proc/self/status`` ("VmRSS", "VmHWM"), MB; None where unsupported."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_mb() -> float:
    """Peak resident set size of this process since the last reset, MB."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
