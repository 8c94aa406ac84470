"""Explanations of a trained model: your own input read and predicted (:mod:`.models`), which
inputs made an output (:mod:`.attribution`: gradients, gradient times input, integrated
gradients), the hidden units that track a pattern (:mod:`.neurons`), and text shaded by a score
(:mod:`.shading`). Above the tasks, below the commands and the app."""
