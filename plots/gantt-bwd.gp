# gantt-bwd.gp: the backward pass of the layer of gantt.gp (data: plots/gantt-bwd-baseline.tsv, plots/gantt-bwd-c.tsv).
part = '-bwd'
load 'plots/gantt.gp'
