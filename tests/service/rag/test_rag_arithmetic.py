"""Costs the notes give as rates are worked out for the period or size the question names."""

import pytest

from service.rag.arithmetic import work_out
from service.rag.chain import RagChain
from service.rag.embeddings import HashingEmbeddings
from service.rag.extractive import ExtractiveAnswerer
from service.rag.vectorstore import FaissStore

RATES = [
    "Fargate charges $0.04048 per vCPU-hour and $0.004445 per GB-hour.",
    "One task of 1 vCPU and 8 GB costs $0.07604 per hour.",
    "Infrequent Access lowers ingestion to $0.25 per GB.",
    "S3 Standard is $0.023 per GB-month.",
]


@pytest.mark.parametrize(
    ("question", "text"),
    [
        ("What does one task cost for a single day?", "$0.07604 per hour × 24 hours = $1.82."),
        ("And over a 730-hour month?", "$0.07604 per hour × 730 hours = $55.51."),
        ("What do two tasks cost monthly?", "2 × $0.07604 per hour × 730 hours = $111.02."),
        ("What does ingesting 3 GB into Infrequent Access cost?", "$0.25 per GB × 3 GB = $0.75."),
    ],
)
def test_work_out_multiplies_the_rate_by_what_the_question_names(question, text):
    worked = work_out(question, RATES)
    assert worked is not None and worked.text == f"Worked out: {text}"
    assert worked.source in RATES


def test_work_out_skips_rates_that_need_a_task_size_or_a_period_it_was_not_given():
    # Per vCPU-hour and GB-hour need the size; per GB-month is not per GB.
    assert work_out("What does a day cost?", RATES[:1]) is None
    assert work_out("What do 5 GB cost?", RATES[3:]) is None
    # No period or size in the question: nothing to work out.
    assert work_out("What does a task cost?", RATES) is None


def test_an_answer_ends_with_the_sum_cited_to_the_sentence_with_the_rate():
    store = FaissStore.from_texts(
        [
            "A NAT gateway costs $0.045 per hour plus $0.045 per GB processed.",
            "Interface endpoints avoid the NAT gateway for AWS services.",
        ],
        HashingEmbeddings(dim=1024),
        [{"source": "networking.md", "section": "NAT gateway"}] * 2,
    )
    answer = RagChain(ExtractiveAnswerer()).ask([store], "What does a NAT gateway cost per month?")
    assert answer.text.endswith("Worked out: $0.045 per hour × 730 hours = $32.85. [1]")
    assert "$0.045 per hour" in answer.citations[0].snippet


def test_no_sum_is_invented_when_the_notes_give_no_rate(store):
    answer = RagChain(ExtractiveAnswerer()).ask([store], "What does an ALB cost over 10 hours?")
    assert answer.grounded and "Worked out" not in answer.text


COUNT_RATES = [
    "On-demand costs $0.625 per million write request units and $0.125 per million read "
    "request units.",
    "Secrets Manager costs $0.40 per secret per month plus $0.05 per 10,000 API calls.",
]
SIZE_RATES = ["Fargate in us-east-1 charges $0.04048 per vCPU-hour and $0.004445 per GB-hour."]


@pytest.mark.parametrize(
    ("rates", "question", "text"),
    [
        (
            COUNT_RATES,
            "At 30,000 chat messages a day, what would the writes cost each month?",
            "30,000 a day × 30 days = 900,000 a month × $0.625 per million write request "
            "units = $0.56.",
        ),
        (
            COUNT_RATES,
            "What do 5,000 API calls a day cost per month?",
            "5,000 a day × 30 days = 150,000 a month × $0.05 per 10,000 API calls = $0.75.",
        ),
        (
            COUNT_RATES,
            "What would 100 reads per second cost a month?",
            "100 a second × 2,592,000 seconds = 259,200,000 a month × $0.125 per million read "
            "request units = $32.40.",
        ),
        (  # a task size, from the prices per vCPU-hour and GB-hour
            SIZE_RATES,
            "What would a 2 vCPU, 16 GB task cost per month?",
            "(2 vCPU × $0.04048 + 16 GB × $0.004445) per hour = $0.15208 per hour × 730 hours "
            "= $111.02.",
        ),
        (
            SIZE_RATES,
            "What does half a vCPU with 4 GB cost a day?",
            "(0.5 vCPU × $0.04048 + 4 GB × $0.004445) per hour = $0.03802 per hour × 24 hours "
            "= $0.91.",
        ),
    ],
)
def test_a_price_per_count_or_size_is_worked_out_for_the_questions_period(rates, question, text):
    worked = work_out(question, rates)
    assert worked is not None and worked.text == f"Worked out: {text}"


def test_a_price_per_count_needs_the_priced_thing_and_a_count_of_it():
    assert work_out("What do 30,000 messages a day cost each month?", COUNT_RATES) is None
    assert work_out("What do the writes cost each month?", COUNT_RATES) is None
    # No month asked: the count is priced as it stands (a day's writes).
    worked = work_out("What do 30,000 writes a day cost?", COUNT_RATES)
    assert worked is not None and worked.text.startswith("Worked out: 30,000 × $0.625 per million")


def test_the_guides_figure_is_never_the_rate_an_answer_works_with():
    store = FaissStore.from_texts(
        [
            "The guide prices on-demand DynamoDB writes at $1.25 per million writes.",
            "DynamoDB on-demand writes cost $0.625 per million writes since November 2024.",
        ],
        HashingEmbeddings(dim=1024),
        [{"source": "state.md", "section": "DynamoDB pricing"}] * 2,
    )
    question = "What do DynamoDB writes cost each month at 30,000 writes a day?"
    answer = RagChain(ExtractiveAnswerer()).ask([store], question)
    assert "$0.625 per million writes = $0.56" in answer.text
    assert "$1.25 per million writes = " not in answer.text


def test_a_task_size_needs_both_sizes_and_a_period():
    assert work_out("What does a 2 vCPU task cost per month?", SIZE_RATES) is None
    assert work_out("What does a 2 vCPU, 16 GB task cost?", SIZE_RATES) is None


def test_a_count_of_the_priced_thing_is_priced_without_a_period():
    worked = work_out("What would three million read request units cost?", COUNT_RATES)
    assert worked is not None
    assert worked.text == ("Worked out: 3,000,000 × $0.125 per million read request units = $0.38.")
    assert work_out("What would three million messages cost?", COUNT_RATES) is None
