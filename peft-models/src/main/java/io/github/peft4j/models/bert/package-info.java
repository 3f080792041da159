/**
 * The BERT family (BERT, MiniLM, e5/bge-small style) as DJL blocks with Hugging Face module paths and numerics:
 * {@link io.github.peft4j.models.bert.BertModel}, {@link io.github.peft4j.models.bert.BertForSequenceClassification},
 * loading of Hugging Face directories ({@link io.github.peft4j.models.bert.Bert}), the tokenizer, and the offline
 * all-MiniLM-L6-v2 ({@link io.github.peft4j.models.bert.MiniLm}).
 */
package io.github.peft4j.models.bert;
