"""The analysts' web app (Streamlit): ``riskpool app`` or ``streamlit run app.py``."""
