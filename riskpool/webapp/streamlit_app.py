"""The script ``riskpool app`` hands to Streamlit (the repository's app.py does the same)."""

from riskpool.webapp.page import main

main()
