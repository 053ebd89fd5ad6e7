"""Custom wake words from text: ``kws wakeword train "hey nova"``.

One module per job: :mod:`.tts` (synthetic speech, cached), :mod:`.confusables` (negatives that
sound like the wake word), :mod:`.room` (reverberation, cheap-microphone band-limit, gain,
noise), :mod:`.dataset` (the clips and the seeded 1-second training windows), :mod:`.calibrate`
(threshold for a target false-accept rate, DET curve) and :mod:`.train` (the recipe).
"""
