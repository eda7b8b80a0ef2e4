"""BM25 ranking, rank fusion and spelling correction against the indexed vocabulary."""

from langchain_core.documents import Document

from service.rag.embeddings import HashingEmbeddings
from service.rag.fusion import RRF_K, rrf
from service.rag.lexical import TITLE_WEIGHT, Bm25Index, term_weights
from service.rag.spelling import Speller, correct, unknown_names
from service.rag.vectorstore import FaissStore

DOCS = [
    ("Ports", "The container listens on port 8080 and the ALB forwards to it."),
    ("Errors", "CannotPullContainerError means the image tag is missing or ECR is unreachable."),
    ("Scaling", "The service scales out when CPU stays above the target."),
]


def test_bm25_ranks_the_chunk_holding_the_rare_term_first():
    index = Bm25Index(DOCS)
    hits = index.search("What causes a CannotPullContainerError?", 3)
    assert hits[0][0] == 1
    assert all(score > 0 for _, score in hits)


def test_bm25_weighs_a_heading_term_above_a_body_mention():
    index = Bm25Index([("Ports", "Traffic arrives here."), ("Other", "Ports are mentioned.")])
    assert [row for row, _ in index.search("ports", 2)] == [0, 1]


def test_bm25_returns_nothing_for_words_no_chunk_holds():
    assert Bm25Index(DOCS).search("sourdough baking", 3) == []
    assert Bm25Index([]).search("port", 3) == []


def test_term_weights_give_unknown_terms_the_top_weight():
    index = Bm25Index(DOCS)
    weight = term_weights([index])
    assert weight("sourdough") > weight("cannotpullcontainererror") > 0
    assert weight("sourdough") >= max(index.idf(t) for t in ("port", "scal", "contain"))


def test_rrf_prefers_an_item_both_rankers_place_well():
    fused = rrf([["a", "b", "c"], ["b", "c", "a"]])
    assert max(fused, key=fused.get) == "b"
    assert fused["b"] == 1 / (RRF_K + 2) + 1 / (RRF_K + 1)


def test_rrf_weights_scale_each_ranking():
    fused = rrf([["a"], ["b"]], weights=[1.0, 2.0])
    assert fused["b"] == 2 * fused["a"]


def test_speller_fixes_a_dropped_extra_or_changed_letter_in_long_words():
    speller = Speller(["fargate", "parameter", "inference", "sessions", "deregistration"])
    assert speller.correct_word("fargte") == "fargate"  # dropped letter
    assert speller.correct_word("sesssions") == "sessions"  # extra letter
    assert speller.correct_word("inferance") == "inference"  # changed letter, 9 letters
    assert speller.correct_word("fargate") is None  # known words stay


def test_speller_leaves_short_and_common_english_words_alone():
    speller = Speller(["waiter", "flight", "billing"])
    assert speller.correct_word("water") is None  # too short to guess
    assert speller.correct_word("boiling") is None  # 7 letters: no changed-letter guess


def test_correct_uses_every_store_vocabulary_and_keeps_known_words():
    a, b = Speller(["fargate"]), Speller(["parameter"])
    assert correct("Is fargte cheaper? paramter store", [a, b]) == (
        "Is fargate cheaper? parameter store"
    )


def test_unknown_names_finds_products_no_document_mentions():
    speller = Speller(["deploy", "container", "fargate"])
    assert unknown_names("How do I deploy a container to Azure with SageMaker?", [speller]) == [
        "Azure",
        "SageMaker",
    ]
    # The first word and known names are not counted; an acronym no document uses is.
    assert unknown_names("Deploy to Fargate with the container", [speller]) == []
    assert unknown_names("Deploy to Fargate with the SQS queue", [speller]) == ["SQS"]


def test_a_camel_case_name_inside_an_indexed_word_is_known():
    # "ReadWrite" is part of the notes' SecretsManagerReadWrite; "BigQuery" of nothing.
    speller = Speller(["secretsmanagerreadwrite", "policy", "cloudwatchlogsfullaccess"])
    asked = "Why are ReadWrite and FullAccess policies too broad, unlike BigQuery's?"
    assert unknown_names(asked, [speller]) == ["BigQuery"]
    assert unknown_names("Does the policy Read it?", [speller]) == ["Read"]  # not camel case


def test_store_rebuilds_its_lexical_index_and_vocabulary_after_changes():
    store = FaissStore.empty(HashingEmbeddings(dim=256))
    ids = store.add_texts(["alpha beta gamma"], [{"section": "One"}])
    assert store.speller().known("alpha")
    store.add_texts(["zebra walrus"], [{"section": "Two"}])
    assert store.speller().known("walrus")
    assert store.hybrid_search_with_score("walrus", 1)[0][0].page_content == "zebra walrus"
    store.delete(ids)
    assert not store.speller().known("alpha")
    assert store.lexical().search("alpha", 2) == []


def test_hybrid_search_returns_cosine_and_fused_scores_best_first():
    store = FaissStore.from_texts([t for _, t in DOCS], HashingEmbeddings(dim=1024))
    ranked = store.hybrid_search_with_score("Which port does the container listen on?", 3)
    docs = [d for d, _, _ in ranked]
    assert isinstance(docs[0], Document) and "8080" in docs[0].page_content
    fused = [f for _, _, f in ranked]
    assert fused == sorted(fused, reverse=True)
    assert -1.0 <= ranked[0][1] <= 1.0


def test_a_stores_section_heading_counts_four_times_and_the_note_title_once():
    # What chapter 01 says: the chunk's heading line once, then TITLE_WEIGHT more.
    doc = Document(
        "Glossary > Cooldowns\nA cooldown is a wait.",
        metadata={"section": "Cooldowns", "headings": "Glossary > Cooldowns"},
    )
    store = FaissStore.empty(HashingEmbeddings())
    store.add_documents([doc])
    counts = {t: dict(p)[0] for t, p in store.lexical()._postings.items()}
    assert counts["cooldown"] == 1 + 1 + TITLE_WEIGHT  # heading line, body, heading
    assert counts["glossary"] == 1 and counts["wait"] == 1
