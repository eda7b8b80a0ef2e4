"""quizzes package."""
