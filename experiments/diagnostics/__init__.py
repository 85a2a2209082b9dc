"""One-off measurements, each behind one finding quoted in docs/ (where a planar G goes wrong,
how many third nodes its edge rule needs, how close the FID Inception is to pytorch-fid, what
scoring costs): rerun them to check that finding, not as part of any protocol. The protocols
that make README's and docs' tables are one folder up, in experiments/."""
