"""Model definitions, distillation and int8 export (training side: imports Keras)."""
