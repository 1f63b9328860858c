"""The analysts' web app: ``streamlit run app.py`` (``riskpool app`` starts the same page)."""

from riskpool.webapp.page import main

main()
