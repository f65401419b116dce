"""What reads a log and renders it: the HTML report and the inspect_ai export. None imports the runner."""
