"""Reading a corpus folder into articles, and splitting articles into chunks."""
