"""Presentation: labels and formats in Chinese and English, views of a summary, terminal tables, charts."""
