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
