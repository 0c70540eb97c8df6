"""Regenerates chat-templates.json: real-world chat templates and what Jinja2 renders for them.

The expected texts come from Jinja2 configured exactly as Hugging Face transformers' apply_chat_template configures
it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, raise_exception), so ChatTemplateTest
compares Jinjava's output with the reference engine's. Run: python3 generate_chat_templates.py > chat-templates.json
"""
import json

import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# Llama-2-chat (meta-llama/Llama-2-7b-chat-hf): system folded into the first user turn, eos after assistant turns.
LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)

# ChatML with a default system prompt (Qwen-style).
CHATML = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Llama-3-Instruct's original template; the header tokens (<|start_header_id|>, <|end_header_id|>, <|eot_id|>) are the
# ones YuLan-Mini-Instruct's tokenizer declares. Sets a variable inside {% if %} inside {% for %} (Jinja scoping).
LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim"
    " + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

# Zephyr: a multi-line template that relies on trim_blocks/lstrip_blocks.
ZEPHYR = (
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + message['content']"
    " + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\\n' + message['content'] + eos_token }}"
    "\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n"
    "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}\n"
)

# Mistral-style: namespace(), a filtered for loop, loop.last, whitespace control, raise_exception.
MISTRAL = """{%- set ns = namespace(system='') -%}
{%- for message in messages -%}
    {%- if message['role'] == 'system' -%}{%- set ns.system = message['content'] -%}{%- endif -%}
{%- endfor -%}
{{- bos_token -}}
{%- for message in messages if message['role'] != 'system' -%}
    {%- if message['role'] == 'user' -%}
        {%- if loop.last and ns.system != '' -%}
            {{- '[INST] ' + ns.system + '\\n\\n' + message['content'] + '[/INST]' -}}
        {%- else -%}
            {{- '[INST] ' + message['content'] + '[/INST]' -}}
        {%- endif -%}
    {%- elif message['role'] == 'assistant' -%}
        {{- ' ' + message['content'].strip() + eos_token -}}
    {%- else -%}
        {{- raise_exception('Only user, assistant and system roles are supported!') -}}
    {%- endif -%}
{%- endfor -%}
"""

# Llama-3.1 style: indented lines whose whitespace only expression-level control ({{- ... }}) removes.
INDENTED = """{{- bos_token }}
{%- for message in messages %}
    {%- if message['role'] == 'system' %}
        {{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
    {%- else %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}
        {{- message['content'] | trim + '<|eot_id|>' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

# Python string methods, tests and filters that templates use.
IDIOMS = (
    "{% for message in messages %}{% if message.content.startswith('/') %}{{ 'CMD ' + message['content'] | replace('/',"
    " '') }}{% elif message.role.endswith('er') %}"
    "{{ message.role.upper() + ': ' + message.content.rstrip() }}{% else %}{{ message.role.lower() + '> '"
    " + message.content.lstrip() }}{% endif %}{% if not loop.last %}{{ '\\n' }}{% endif %}{% endfor %}"
    "{% if tools is defined %}never{% endif %}{{ ' [' ~ (messages | length) ~ ']' }}"
    "{% if add_generation_prompt %}{{ '\\n' + 'assistant> ' }}{% endif %}"
)

TEMPLATES = {
    "llama2": LLAMA2,
    "chatml": CHATML,
    "llama3": LLAMA3,
    "zephyr": ZEPHYR,
    "mistral": MISTRAL,
    "indented": INDENTED,
    "idioms": IDIOMS,
}

CONVERSATIONS = [
    [{"role": "user", "content": "Hi"}],
    [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "  Hello there  "},
        {"role": "assistant", "content": " Hi! How can I help? "},
        {"role": "user", "content": "Tell me about 玉兰 🌸\nin two lines."},
    ],
    [
        {"role": "user", "content": "/start"},
        {"role": "assistant", "content": "Started."},
        {"role": "user", "content": "Thanks"},
        {"role": "assistant", "content": "You're welcome."},
    ],
    [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}],
    [{"role": "tool", "content": "42"}],
]


def raise_exception(message):
    raise TemplateError(message)


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.globals["raise_exception"] = raise_exception
    cases = []
    for name, source in TEMPLATES.items():
        compiled = env.from_string(source)
        for conversation in CONVERSATIONS:
            for add_generation_prompt in (False, True):
                try:
                    expected = compiled.render(
                        messages=conversation,
                        add_generation_prompt=add_generation_prompt,
                        bos_token="<s>",
                        eos_token="</s>",
                    )
                    error = None
                except TemplateError as e:
                    expected, error = None, str(e)
                cases.append({
                    "template": name,
                    "messages": conversation,
                    "add_generation_prompt": add_generation_prompt,
                    "expected": expected,
                    "error": error,
                })
    print(json.dumps({"templates": TEMPLATES, "cases": cases}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
