"""AlexNet Explorer's core: models, data, training, runs and introspection. No Streamlit here.

Importing this package does no work; each module imports TensorFlow/Keras only when it needs it.
"""
