# (filled in by its issue-10 part)
