# title: Capture plot panel
# description: The pslab-remote capture panel: a plot with a button that captures CH1 and CH2 into it. SI1 and SI2 drive CH1 and CH2 on the default bench. Written as a 2017 pslab-remote script.
# level: beginner
import numpy as np
set_sine1(1000)
set_sine2(1000)
x = np.linspace(0, 2 * np.pi, 100)
plt = plot(x, np.sin(x))
button('Capture CH1 and CH2', "capture2(500, 2)", "update-plot", target=plt, stacking='xyy')
label('%d samples every %d us' % (500, 2))
