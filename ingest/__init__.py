"""Reading PDFs: text extraction backends, page cleaning and batching."""
