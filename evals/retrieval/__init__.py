"""Evaluation of retrieval on question sets, side by side with LangChain's defaults."""
