"""Test the offline extractive answerer and the LLM answerer (with a fake model)."""

from __future__ import annotations

import re

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import Field

from service.rag.analysis import topic_terms
from service.rag.answers import DONT_KNOW
from service.rag.extractive import ExtractiveAnswerer
from service.rag.llm import LLMAnswerer

OFF_TOPIC = [
    "What is the capital of France?",
    "write me a poem about cats",
    "Who won the football world cup in 2014?",
]


class RecordingFake(GenericFakeChatModel):
    """A fake chat model that also records the messages it was sent."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(messages)
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def fake(*replies: str) -> RecordingFake:
    return RecordingFake(messages=iter(AIMessage(content=r) for r in replies))


def answer_sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"\s*\[\d+\]\s*", text) if s.strip()]


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_extractive_refuses_off_topic_questions(store, question):
    hits = store.similarity_search_with_score(question, k=4)
    answer = ExtractiveAnswerer().answer(question, hits)
    assert answer.grounded is False
    assert answer.citations == []
    assert answer.text == DONT_KNOW


def test_extractive_refuses_when_matching_words_are_scattered_over_unrelated_sentences():
    # The chunk shares two words with the question, but no sentence answers it.
    chunk = Document(
        page_content="On-demand tables bill per million request units. Keep no state in the task.",
        metadata={"source": "state.md"},
    )
    question = "Who is the president of the United States?"
    assert ExtractiveAnswerer().answer(question, [(chunk, 0.3)]).grounded is False


def test_extractive_refuses_when_nothing_was_retrieved():
    assert ExtractiveAnswerer().answer("How is Fargate billed?", []).grounded is False


def test_extractive_answers_with_sentences_from_the_chunks_and_cites_them(store):
    question = "How is Fargate billed?"
    hits = store.similarity_search_with_score(question, k=4)
    answer = ExtractiveAnswerer().answer(question, hits)
    assert answer.grounded
    assert "billed per second" in answer.text
    assert answer.citations[0].source == "fargate.md"
    assert answer.citations[0].page is None
    # never invents: every sentence it says is verbatim in a retrieved chunk
    texts = " ".join(" ".join(d.page_content.split()) for d, _ in hits)
    for sentence in answer_sentences(answer.text):
        assert sentence in texts
    for citation in answer.citations:
        assert citation.snippet.split(" … ")[0] in texts
    # every [n] marker points at a citation
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == set(range(1, len(answer.citations) + 1))


def test_extractive_cites_pdf_pages(store):
    from service.rag.ingest import load_bytes, split_documents
    from service.rag.samplepdf import text_pdf

    pdf = text_pdf(["Intro page.", "The NAT gateway charges per GB processed and per hour."])
    store.add_documents(split_documents(load_bytes(pdf, "vpc.pdf")))
    question = "what does the NAT gateway charge for?"
    answer = ExtractiveAnswerer().answer(question, store.similarity_search_with_score(question))
    assert (answer.citations[0].source, answer.citations[0].page) == ("vpc.pdf", 2)


def test_llm_answerer_answers_only_from_context_and_cites_retrieved_docs(store):
    model = fake("Fargate is billed per second for vCPU and memory [1].")
    question = "How is Fargate billed?"
    hits = store.similarity_search_with_score(question, k=3)
    answer = LLMAnswerer(model).answer(question, hits)
    assert answer.grounded
    assert answer.text == "Fargate is billed per second for vCPU and memory [1]."
    assert answer.citations[0].source == "fargate.md"
    system, human = model.seen[0]
    assert "ONLY" in system.content and "billed per second" in system.content
    # issue 15's answer shape: at most three sentences, each cited
    assert "at most three sentences" in system.content and "end each sentence" in system.content
    assert "[1] (fargate.md)" in system.content
    assert human.content == question


def test_llm_answerer_refuses_off_topic_without_calling_the_model(store):
    model = fake()  # any call would fail: the iterator is empty
    question = OFF_TOPIC[0]
    answer = LLMAnswerer(model).answer(question, store.similarity_search_with_score(question))
    assert answer.grounded is False and answer.citations == []
    assert model.seen == []


def test_a_near_miss_the_offline_answerer_refuses_reaches_the_chat_model(store):
    # One word of five ("billed") is shared: too little evidence for word matching, but the
    # model reads meaning, so it gets the passages and answers.
    question = "How does the no-servers box thingy get billed, roughly?"
    hits = store.similarity_search_with_score(question, k=4)
    assert ExtractiveAnswerer().answer(question, hits).grounded is False
    model = fake("Per second, for the vCPU and memory a task reserves [1].")
    answer = LLMAnswerer(model).answer(question, hits)
    assert answer.grounded and len(model.seen) == 1
    assert "billed per second" in model.seen[0][0].content


def _passages(*texts: tuple[str, str, str]) -> list:
    return [
        (Document(page_content=t, metadata={"source": src, "section": sec}), 0.5)
        for src, sec, t in texts
    ]


PASSAGES = _passages(
    ("fargate.md", "Pricing", "Fargate is billed per second."),
    ("alb.md", "Pricing", "An ALB has an hourly charge plus LCUs."),
    ("deploy.md", "Circuit breaker", "The breaker counts failed tasks."),
    ("fargate.md", "Pricing", "Fargate Spot is up to 70 % cheaper."),
)


COST_QUESTION = "What do Fargate Spot, the ALB and the breaker's failed tasks cost per second?"


def test_llm_answers_cite_only_the_passages_they_name_renumbered_in_order():
    # Passages 4 and 1 are one section of one note: one citation. [9] names no passage.
    model = fake("Spot is cheaper [4]; the breaker counts failed tasks [3]; per second [1] [9].")
    answer = LLMAnswerer(model).answer(COST_QUESTION, PASSAGES)
    assert (
        answer.text == "Spot is cheaper [1]; the breaker counts failed tasks [2]; per second [1]."
    )
    assert [(c.source, c.section) for c in answer.citations] == [
        ("fargate.md", "Pricing"),
        ("deploy.md", "Circuit breaker"),
    ]  # the ALB passage, given but not cited, is not a citation


def test_renumbering_leaves_the_rest_of_an_llm_answer_as_written():
    reply = "Replace the tasks [3]:\n\n    aws ecs update-service  --force-new-deployment\n"
    answer = LLMAnswerer(fake(reply)).answer(COST_QUESTION, PASSAGES)
    assert (
        answer.text
        == "Replace the tasks [1]:\n\n    aws ecs update-service  --force-new-deployment"
    )


def test_an_llm_answer_without_markers_cites_every_passage_it_was_given():
    answer = LLMAnswerer(fake("Per second, hourly plus LCUs.")).answer(COST_QUESTION, PASSAGES)
    assert answer.text == "Per second, hourly plus LCUs."
    assert [c.source for c in answer.citations] == ["fargate.md", "alb.md", "deploy.md"]


def test_llm_answerer_passes_on_the_model_saying_it_does_not_know(store):
    question = "How is Fargate billed?"
    answer = LLMAnswerer(fake(DONT_KNOW)).answer(
        question, store.similarity_search_with_score(question)
    )
    assert answer.grounded is False and answer.citations == []


@pytest.mark.parametrize(
    "reply",
    [
        "The passages do not mention CloudFront's default TTL.",
        "I cannot answer that from the context given.",
        "There is no information about sourdough in these notes.",
        "I do not know; none of the passages covers it.",
    ],
)
def test_an_llm_reply_declining_in_its_own_words_is_a_refusal(store, reply):
    question = "How is Fargate billed?"
    answer = LLMAnswerer(fake(reply)).answer(question, store.similarity_search_with_score(question))
    assert answer.grounded is False and answer.citations == []


def test_a_hedged_llm_reply_that_cites_a_passage_is_an_answer():
    reply = "The notes do not give the exact figure for Spot, but tasks bill per second [1]."
    answer = LLMAnswerer(fake(reply)).answer(COST_QUESTION, PASSAGES)
    assert answer.grounded and [c.source for c in answer.citations] == ["fargate.md"]


def test_llm_condense_sends_history_and_returns_the_rewrite():
    model = fake("What does Fargate cost?")
    history = [("user", "What is Fargate?"), ("assistant", "A serverless launch type.")]
    assert LLMAnswerer(model).condense("and its cost?", history) == "What does Fargate cost?"
    kinds = [m.type for m in model.seen[0]]
    assert kinds == ["system", "human", "ai", "human"]


def test_llm_condense_without_history_does_not_call_the_model():
    model = fake()
    assert LLMAnswerer(model).condense("What is Fargate?", []) == "What is Fargate?"


def test_a_section_sentence_is_preferred_to_the_notes_opening_summary():
    title = "Deployments"
    claim = "The deployment circuit breaker rolls back a failed deployment."
    summary = Document(
        page_content=claim,
        metadata={"source": "deploy.md", "section": title, "headings": title},
    )
    section = Document(
        page_content=f"{claim} It trips after half the desired count of tasks fail, at least 3.",
        metadata={"source": "deploy.md", "section": title, "headings": f"{title} > Breaker"},
    )
    question = "When does the deployment circuit breaker roll back?"
    hits = [(summary, 0.5), (section, 0.5)]  # the summary first: it wins a tie
    plain = ExtractiveAnswerer(max_sentences=2)
    plain.preamble_penalty = 0.0
    assert "at least 3" not in plain.answer(question, hits).text
    answer = ExtractiveAnswerer(max_sentences=2).answer(question, hits)
    assert answer.text.startswith(claim)
    assert "at least 3" in answer.text


def test_the_guides_reported_claim_is_not_quoted_as_the_answer():
    text = (
        'The guide says the load balancer retries a failed request "three times". '
        "The load balancer does not retry a request; the client does."
    )
    doc = Document(page_content=text, metadata={"source": "alb.md", "section": "Retries"})
    question = "Does the load balancer retry a failed request?"
    plain = ExtractiveAnswerer(max_sentences=1)
    plain.claim_penalty = 0.0
    assert plain.answer(question, [(doc, 0.5)]).text.startswith("The guide says")
    answer = ExtractiveAnswerer(max_sentences=1).answer(question, [(doc, 0.5)])
    assert answer.text.startswith("The load balancer does not retry")


def test_the_section_the_question_names_answers_before_a_busier_one():
    busy = Document(
        page_content="When the circuit breaker rolls back, the pipeline stays green.",
        metadata={"source": "cicd.md", "section": "Pipelines"},
    )
    titled = Document(
        page_content="The circuit breaker rolls back once half the desired tasks fail.",
        metadata={"source": "ecs.md", "section": "Circuit breaker"},
    )
    question = "How does the circuit breaker decide to roll back?"
    hits = [(busy, 0.6), (titled, 0.5)]  # the other section was retrieved better
    plain = ExtractiveAnswerer(max_sentences=1)
    plain.title_bonus = 0.0
    assert plain.answer(question, hits).text.startswith("When the circuit breaker")
    answer = ExtractiveAnswerer(max_sentences=1).answer(question, hits)
    assert answer.text.startswith("The circuit breaker rolls back once half")


@pytest.mark.parametrize(
    "asked", ["out of the box", "unless we change it", "if left unset", "unless I say otherwise"]
)
def test_plain_words_for_a_default_are_read_as_asking_for_the_default(asked):
    # So a sentence naming the default matches them ("The default delay is 300 seconds").
    assert "default" in topic_terms(f"How long is the draining delay, {asked}?")
    assert "default" not in topic_terms("How long is the draining delay, unless it is short?")
