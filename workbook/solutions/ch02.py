"""Solutions to chapter 02's exercises (loaded only by show_solution and by CI's runs)."""


def layer_order():
    """02-1: root work first, the dependency list and its install before the code, USER last."""
    return [
        "from",
        "useradd",  # root work: creating the user needs root
        "workdir",
        "requirements",  # only the pinned list: a code change leaves this layer alone
        "install",  # reused from the cache until requirements/service.txt changes
        "code",  # a code change rebuilds from here on: cheap layers only
        "user",  # everything after runs as 10001
        "cmd",
    ]


def health_check():
    """02-2: Python's urllib, already in the slim image; a 5xx or no answer exits non-zero."""
    return {
        "command": [
            "CMD",
            "python",
            "-c",
            "import urllib.request; "
            "urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)",
        ],
        "interval": 30,
        "timeout": 5,
        "retries": 3,
        "startPeriod": 60,  # probes failing while the app starts do not count
    }


def dockerignore():
    """02-3: an allow-list: leave everything out, let back in only what the Dockerfile copies."""
    return [
        "# comments only on their own line",
        "**",
        "!requirements/service.txt",
        "!service/",
        "!notes/",
        "**/__pycache__",  # ** matches in every folder: patterns are anchored at the root
        "**/*.pyc",
    ]


def pull_times():
    """02-4: size ÷ rate for every task (no cache); billing runs from the pull's start."""
    from deploy.models.rollout import RolloutConfig
    from workbook.checks.ch02 import measured_image

    cfg = RolloutConfig()  # 4.4 GB (the guide's image), 50 MB/s, app start 30 s
    pull_s = cfg.image_size_gb * 1000 / cfg.pull_mb_per_s
    return {
        "pull_s": pull_s,
        "next_task_pull_s": pull_s,  # Fargate caches no layers between tasks
        "billed_before_healthy_s": pull_s + cfg.app_start_s,  # provisioning is not billed
        "ours_pull_s": measured_image()["image_bytes"] / 1e6 / cfg.pull_mb_per_s,  # the whole
    }


SOLUTIONS = {
    "02-1": layer_order,
    "02-2": health_check,
    "02-3": dockerignore,
    "02-4": pull_times,
}
