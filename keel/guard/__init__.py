"""Guards on what goes in and out of a model: screening of requests and answers."""
