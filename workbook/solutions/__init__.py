"""Each chapter's exercise solutions, kept out of the notebooks: chNN.SOLUTIONS by id."""
