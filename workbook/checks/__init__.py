"""Each chapter's exercises (prompts and checks), one module per chapter: chNN.EXERCISES."""
