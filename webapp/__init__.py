"""The web page: handlers bound to the loaded models, what each output shows, its CSS and JS as files.

The only package that imports gradio (with app.py). `page.build_demo` builds the Blocks.
"""
