/**
 * DSEE (Chen et al., 2021): a low-rank update plus a sparse one whose positions come from the pre-trained weight's
 * sparse residual; peft4j's own file layout (Python PEFT has no DSEE).
 */
package io.github.peft4j.sparse.dsee;
