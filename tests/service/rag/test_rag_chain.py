"""Test the RAG chain: history-aware retrieval, several stores, input checks."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from service.rag.chain import RagChain
from service.rag.embeddings import HashingEmbeddings
from service.rag.errors import RagError
from service.rag.history import is_follow_up, rewrite_offline
from service.rag.ingest import load_bytes, split_documents
from service.rag.llm import LLMAnswerer
from service.rag.samplepdf import text_pdf
from service.rag.vectorstore import FaissStore

FARGATE_TURN = [
    ("user", "What is Fargate?"),
    ("assistant", "Fargate is the serverless launch type of ECS."),
]


def test_follow_up_uses_the_previous_question_to_retrieve_cost_content(store):
    chain = RagChain()
    answer = chain.ask([store], "what about its cost?", FARGATE_TURN)
    assert "Fargate" in answer.standalone_question
    top = chain.retrieve([store], answer.standalone_question)[0][0]
    assert (top.metadata["source"], top.metadata["section"]) == ("fargate.md", "Pricing")
    assert answer.grounded and answer.citations[0].source == "fargate.md"
    assert "billed per second" in answer.text


def test_the_same_follow_up_follows_whichever_topic_came_before(store):
    alb_turn = [("user", "What does the load balancer do?"), ("assistant", "It routes.")]
    answer = RagChain().ask([store], "what about its cost?", alb_turn)
    assert answer.citations[0].source == "alb.md"
    assert "LCUs" in answer.text


def test_chained_follow_ups_keep_the_topic():
    history = [*FARGATE_TURN, ("user", "and its cost?"), ("assistant", "...")]
    assert "Fargate" in rewrite_offline("what about Spot for it?", history)


def test_a_follow_up_carries_the_names_of_the_earlier_question_first():
    history = [("user", "How do I configure the health check path of the ALB on Fargate?")]
    assert rewrite_offline("what about its cost?", history) == (
        "what about its cost? (ALB Fargate configure health)"
    )


def test_standalone_questions_are_not_rewritten():
    question = "How does the ALB health check work?"
    assert not is_follow_up(question)
    assert rewrite_offline(question, FARGATE_TURN) == question


@pytest.mark.parametrize(
    "question",
    [
        "What do lifecycle policies expire?",
        "When does the circuit breaker roll back?",
        "What is Fargate?",
        "How does the ALB know a task is healthy before it sends traffic?",
        "What is the port that the ALB health check probes?",
    ],
)
def test_questions_that_name_their_own_subject_are_not_follow_ups(question):
    history = [("user", "What does the circuit breaker do?"), ("assistant", "It rolls back.")]
    assert not is_follow_up(question)
    assert rewrite_offline(question, history) == question


@pytest.mark.parametrize(
    "question",
    [
        "and what is its failure threshold?",
        "what about the rolling update?",
        "how about Spot?",
        "How much does it cost?",
        "how many failures trigger it?",
        "What does that cost?",
        "Why?",
        "why is that?",
    ],
)
def test_real_follow_ups_take_the_earlier_topic(question):
    history = [("user", "What does the circuit breaker do?"), ("assistant", "It rolls back.")]
    assert is_follow_up(question)
    assert "circuit breaker" in rewrite_offline(question, history)


def test_a_fresh_question_after_a_turn_retrieves_its_own_topic(store):
    history = [("user", "What does the load balancer do?"), ("assistant", "It routes.")]
    answer = RagChain().ask([store], "What is Fargate?", history)
    assert answer.standalone_question == "What is Fargate?"
    assert answer.grounded and answer.citations[0].source == "fargate.md"


def test_a_split_phrasal_verb_matches_its_joined_form():
    from service.rag.analysis import analyze

    assert "rollback" in analyze("ECS rolls a failed deployment back")[0]
    assert "rollback" in analyze("when does it roll back?")[0]
    assert "back" not in analyze("ECS rolls the service back")[0]


def test_off_topic_questions_are_refused_by_the_chain(store):
    chain = RagChain()
    for question in ["What is the capital of France?", "write me a poem about cats"]:
        answer = chain.ask([store], question, [])
        assert not answer.grounded and not answer.citations
        assert "don't know" in answer.text


def test_one_chain_searches_session_uploads_and_the_library_together(store):
    session = FaissStore.empty(HashingEmbeddings())
    pdf = text_pdf(["Our team pays for a NAT gateway in each Availability Zone."])
    session.add_documents(split_documents(load_bytes(pdf, "team.pdf")))
    chain = RagChain(k=4)
    sources = {
        d.metadata["source"] for d, _ in chain.retrieve([session, store], "NAT gateway per zone")
    }
    assert "team.pdf" in sources
    answer = chain.ask([session, store], "Where do we pay for a NAT gateway?", [])
    assert (answer.citations[0].source, answer.citations[0].page) == ("team.pdf", 1)
    library = chain.ask([session, store], "How is Fargate billed?", [])
    assert library.citations[0].source == "fargate.md"
    # The same chain answers another session's question from that session's stores only.
    alone = chain.ask([session], "How is Fargate billed?", [])
    assert not alone.grounded and not alone.citations


def test_empty_stores_are_skipped(store):
    chain = RagChain()
    assert chain.ask(
        [FaissStore.empty(HashingEmbeddings()), store], "How is Fargate billed?"
    ).grounded
    assert not chain.ask([], "How is Fargate billed?").grounded  # nothing to search: refused


def test_llm_chain_condenses_then_answers_with_citations(store):
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(content="How much does Fargate cost?"),
                AIMessage(content="Per second, for vCPU and memory [1]."),
            ]
        )
    )
    answer = RagChain(LLMAnswerer(model)).ask([store], "and its cost?", FARGATE_TURN)
    assert answer.standalone_question == "How much does Fargate cost?"
    assert answer.text == "Per second, for vCPU and memory [1]."
    assert answer.citations[0].source == "fargate.md"


@pytest.mark.parametrize(
    ("history", "message"),
    [([("system", "hi")], "role 'system'"), ([("user",)], "pair"), (["text"], "pair")],
)
def test_bad_history_raises(store, history, message):
    with pytest.raises(RagError, match=message):
        RagChain().ask([store], "What is Fargate?", history)


def test_bad_chain_input_raises(store):
    with pytest.raises(RagError, match="k must be"):
        RagChain(k=0)
    with pytest.raises(RagError, match=r"pass \[store\]"):
        RagChain().ask(store, "What is Fargate?")


def test_a_misspelt_question_is_corrected_against_the_documents_and_answered(store):
    answer = RagChain().ask([store], "How is fargte priced per secnd?")
    assert "Fargate" in answer.standalone_question or "fargate" in answer.standalone_question
    assert answer.grounded and answer.citations[0].source == "fargate.md"


def test_a_question_naming_something_no_document_mentions_is_refused(store):
    # It shares "deploy", "container" and "pricing" with the notes, but asks about Azure.
    answer = RagChain().ask([store], "What is the pricing of a container deploy on Azure?")
    assert not answer.grounded and not answer.citations


def test_with_a_chat_model_an_unknown_name_is_the_models_to_judge(store):
    # "Fargie" is no word of the notes: offline, that refuses; a chat model reads the
    # passages and may see the learner's nickname for Fargate, or say it does not know.
    question = "How is Fargie billed, per second?"
    assert not RagChain().ask([store], question).grounded
    model = GenericFakeChatModel(messages=iter([AIMessage(content="Per second [1].")]))
    answer = RagChain(LLMAnswerer(model)).ask([store], question)
    assert answer.grounded and answer.text == "Per second [1]."
    assert answer.citations[0].source == "fargate.md"


def test_a_rare_term_alone_is_enough_to_answer(store):
    # "task" is in many chunks, "LCUs" in one: the chunk sharing only "LCUs" holds half the
    # question's terms (below the unweighted rule) but most of its weight.
    answer = RagChain().ask([store], "Does a task use LCUs?")
    assert answer.grounded and answer.citations[0].source == "alb.md"
