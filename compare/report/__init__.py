"""A comparison for people: Markdown and HTML reports, and the folder they are written into."""
