"""The print-ready PDF of a book and the text set in it."""
