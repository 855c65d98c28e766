# title: Oscilloscope with a trigger
# description: A 500 Hz sine on SI1 (wired to CH1) captured twice: free running, where the trace starts anywhere in the period, and triggered at 0 V on a rising edge, where every capture starts at the same phase.
# level: beginner
import numpy as np

set_sine1(500)
free = oscilloscope_capture(1, 1000, 4)
triggered = oscilloscope_capture(1, 1000, 4, trigger=0.0)
plot(triggered[0], triggered[1], free[1], name='sine', labels=['CH1 triggered', 'CH1 free'],
     x_label='Time (µs)', y_label='Voltage (V)')
start = triggered[1][0]
rising = triggered[1][5] > triggered[1][0]
print('triggered capture starts at %.3f V, rising: %s' % (start, rising))
button('Capture again (triggered)', "oscilloscope_capture(1, 1000, 4, trigger=0.0)",
       'update-plot', target='sine')
