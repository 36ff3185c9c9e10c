"""The hidden grader and the instructor's release tools. Never copied into a student release."""
