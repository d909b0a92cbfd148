"""The Gradio web UI: `app` builds the page, `session` holds one user's chat state,
`render` turns answers into safe HTML and Markdown, `feedback` records likes.

Gradio is imported only inside `app`, so the other modules stay cheap to test.
"""
