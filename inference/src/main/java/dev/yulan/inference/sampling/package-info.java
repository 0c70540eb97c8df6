/**
 * Picking the next token from logits, and deciding when generation stops.
 *
 * <p>Choices, so that behaviour matches what vLLM and llama.cpp users expect:
 *
 * <ul>
 *   <li>Order: penalties (repetition, then frequency, then presence), then temperature 0 = greedy argmax (lowest index
 *       on ties), else temperature scaling, top-k, top-p, min-p and the draw.
 *   <li>Repetition penalty applies to every token seen in the prompt or generated so far (as in vLLM and Hugging Face):
 *       positive logits are divided by it, negative ones multiplied. Presence and frequency penalties count generated
 *       tokens only (OpenAI semantics): {@code logit -= frequency * count + presence * (count > 0 ? 1 : 0)}.
 *   <li>Determinism: the uniform number used at step {@code i} is a pure function of {@code (seed, i)} ({@link
 *       dev.yulan.inference.sampling.Sampler#uniform}), so a request replayed from scratch draws the same tokens. A null
 *       seed becomes {@link dev.yulan.inference.sampling.Sampler#seedFor} of the request id.
 *   <li>Logprobs are those of the raw model distribution (log-softmax of the logits before penalties, temperature and
 *       filtering), like vLLM's default.
 *   <li>Stop strings are not included in the output (OpenAI semantics); neither is the text of an EOS or stop token id.
 * </ul>
 */
package dev.yulan.inference.sampling;
