"""Solutions to chapter 01's exercises (loaded only by show_solution and by CI's runs)."""


def bag_of_words():
    """01-1: lowercase runs of letters and digits, each once, stopwords dropped."""
    from service.rag.analysis import STOPWORDS, tokens

    def words(text: str) -> set[str]:
        return set(tokens(text)) - STOPWORDS  # tokens() lowercases and splits off "?"

    return words


def refusals():
    """01-2: a name no note uses and an off-topic question are refused; the spider is not."""
    return {
        "Which port does the container listen on?": False,
        "What is the capital of Peru?": True,  # "Peru": a name no note mentions
        "How do I bake sourdough bread?": True,  # no chunk shares enough of its terms
        "Can I run my containers on Azure?": True,  # relevant chunks, but "Azure" is unknown
        # "memory" carries the question: the filter weighs words, it does not understand.
        "How much memory does a spider need?": False,
    }


def chunk_size():
    """01-3: whole sections retrieve best; the price is more text per hit."""
    return {"best_recall": 3000, "cost": "b"}


SOLUTIONS = {"01-1": bag_of_words, "01-2": refusals, "01-3": chunk_size}
