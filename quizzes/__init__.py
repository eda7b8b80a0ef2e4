"""Quiz engine: bank schema and loader, graders, FSRS reviews, progress, drills, CLI, widget."""
