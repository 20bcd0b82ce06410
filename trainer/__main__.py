"""``python -m trainer`` (and ``torchrun --nproc_per_node N -m trainer``): ``verirl train``."""

from trainer.train import main

raise SystemExit(main())
