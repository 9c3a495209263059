/**
 * Tokenizers for text models, in pure Java: {@link dev.distillbridge.tokenizer.Tokenizer} turns
 * text into token ids and a padded batch; {@link dev.distillbridge.tokenizer.WordPieceTokenizer}
 * reads a Hugging Face BERT {@code tokenizer.json} and gives the same ids as Python's
 * {@code tokenizers}. {@code DistilledModel} uses one for a text artifact.
 */
package dev.distillbridge.tokenizer;
